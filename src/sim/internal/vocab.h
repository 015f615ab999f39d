// Fixed vocabularies the simulator draws from (names, places, categories, ...).
// Changing any list changes every generated data set: treat them as part of the format.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace strata::sim::internal {

inline constexpr std::array<std::string_view, 40> kFirstNames = {
    "Olivia", "Liam",  "Emma", "Noah",  "Amelia", "Oliver", "Ava",    "Elijah", "Sophia", "Lucas",
    "Mia",    "Mateo", "Isla", "Leon",  "Hannah", "Finn",   "Chloe",  "Hugo",   "Lea",    "Jonas",
    "Sofia",  "Luca",  "Nora", "Elias", "Alice",  "Arthur", "Emilia", "Theo",   "Freya",  "Oscar",
    "Maja",   "Felix", "Zoe",  "Ethan", "Ines",   "Samuel", "Yuki",   "Omar",   "Priya",  "Chen"};

inline constexpr std::array<std::string_view, 40> kLastNames = {
    "Smith",     "Johnson", "Williams", "Brown",    "Jones",   "Garcia", "Miller", "Davis",    "Muller",  "Schmidt",
    "Schneider", "Fischer", "Weber",    "Martin",   "Bernard", "Dubois", "Rossi",  "Russo",    "Ferrari", "Lopez",
    "Gonzalez",  "Perez",   "Jansen",   "De Vries", "Nilsson", "Larsen", "Novak",  "Kowalski", "Taylor",  "Wilson",
    "Moore",     "Clark",   "Lewis",    "Walker",   "Young",   "Allen",  "Sato",   "Kim",      "Patel",   "O'Brien"};

inline constexpr std::array<std::string_view, 6> kEmailDomains = {"example.com",       "mail.example.org",
                                                                  "inbox.example.net", "shopper.example.com",
                                                                  "post.example.de",   "corp.example.co.uk"};

struct Country {
  std::string_view code;
  int weight;  // relative share of customers
  std::array<std::string_view, 4> cities;
};

inline constexpr std::array<Country, 10> kCountries = {{
    {"US", 35, {"New York", "Austin", "Seattle", "Chicago"}},
    {"GB", 12, {"London", "Manchester", "Leeds", "Bristol"}},
    {"DE", 12, {"Berlin", "Hamburg", "Munich", "Cologne"}},
    {"FR", 9, {"Paris", "Lyon", "Marseille", "Toulouse"}},
    {"CA", 7, {"Toronto", "Vancouver", "Montreal", "Calgary"}},
    {"NL", 6, {"Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"}},
    {"ES", 6, {"Madrid", "Barcelona", "Valencia", "Seville"}},
    {"IT", 5, {"Rome", "Milan", "Naples", "Turin"}},
    {"AU", 5, {"Sydney", "Melbourne", "Brisbane", "Perth"}},
    {"SE", 3, {"Stockholm", "Gothenburg", "Malmo", "Uppsala"}},
}};

// Ordered from lowest to highest; segment changes are mostly one step.
inline constexpr std::array<std::string_view, 4> kSegments = {"bronze", "silver", "gold", "platinum"};

struct Category {
  std::string_view name;
  int64_t min_price_cents;
  int64_t max_price_cents;
  std::array<std::string_view, 6> nouns;
};

inline constexpr std::array<Category, 8> kCategories = {{
    {"electronics", 1999, 89999, {"Headphones", "Speaker", "Charger", "Smartwatch", "Camera", "Tablet"}},
    {"home", 499, 24999, {"Lamp", "Cushion", "Blanket", "Vase", "Clock", "Mirror"}},
    {"kitchen", 399, 19999, {"Kettle", "Pan", "Knife Set", "Blender", "Mug", "Toaster"}},
    {"apparel", 999, 14999, {"T-Shirt", "Hoodie", "Jacket", "Sneakers", "Scarf", "Jeans"}},
    {"beauty", 299, 7999, {"Serum", "Shampoo", "Lip Balm", "Face Mask", "Perfume", "Lotion"}},
    {"sports", 799, 39999, {"Yoga Mat", "Dumbbell", "Water Bottle", "Backpack", "Tent", "Helmet"}},
    {"toys", 499, 9999, {"Puzzle", "Robot", "Plush Bear", "Board Game", "Kite", "Blocks"}},
    {"books", 599, 4999, {"Novel", "Cookbook", "Atlas", "Journal", "Guide", "Anthology"}},
}};

inline constexpr std::array<std::string_view, 12> kBrands = {"Acme",     "Northwind", "Globex",  "Initech",
                                                             "Umbrella", "Stark",     "Wayne",   "Hooli",
                                                             "Vandelay", "Tyrell",    "Soylent", "Cyberdyne"};

inline constexpr std::array<std::string_view, 12> kAdjectives = {"Classic", "Ultra",   "Eco",     "Smart",
                                                                 "Compact", "Deluxe",  "Premium", "Everyday",
                                                                 "Pro",     "Vintage", "Urban",   "Nordic"};

inline constexpr std::array<std::string_view, 8> kColors = {"black", "white", "red",   "blue",
                                                            "green", "grey",  "beige", "navy"};
inline constexpr std::array<std::string_view, 5> kSizes = {"XS", "S", "M", "L", "XL"};
inline constexpr std::array<std::string_view, 6> kMaterials = {"cotton",  "steel", "bamboo",
                                                               "plastic", "glass", "leather"};

inline constexpr std::array<std::string_view, 4> kPaymentMethods = {"card", "paypal", "apple_pay", "gift_card"};

// Event vocabulary.
inline constexpr std::array<std::string_view, 5> kEventTypes = {"page_view", "product_view", "add_to_cart",
                                                                "checkout_started", "purchase"};
inline constexpr std::array<std::string_view, 5> kUnknownEventTypes = {"wishlist_add", "share", "coupon_applied",
                                                                       "review_submitted", "newsletter_signup"};
inline constexpr std::array<std::string_view, 3> kDevices = {"mobile", "desktop", "tablet"};
inline constexpr std::array<std::array<std::string_view, 2>, 3> kUserAgents = {{
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) Mobile/15E148",
     "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120.0 Mobile"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Version/17.2 Safari/605.1.15"},
    {"Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) Mobile/15E148",
     "Mozilla/5.0 (Linux; Android 13; SM-X710) Chrome/120.0"},
}};
inline constexpr std::array<std::string_view, 4> kReferrers = {
    "https://www.google.com/", "https://www.facebook.com/", "https://news.example.org/", "https://mail.example.com/"};
inline constexpr std::array<std::string_view, 6> kSearchWords = {"gift", "sale", "black", "new", "eco", "bundle"};
inline constexpr std::string_view kSiteUrl = "https://shop.example.com";

// Lines that are not JSON at all (malformed dirt besides truncated objects).
inline constexpr std::array<std::string_view, 5> kGarbageLines = {
    "not json at all", "<html><body>502 Bad Gateway</body></html>", "}{", "event_id=ev-0&event_type=page_view",
    "{\"event_id\": \"ev-"};

}  // namespace strata::sim::internal
