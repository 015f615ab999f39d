// Transaction<C>: a transaction that rolls back unless committed, on any connection type
// with Begin(), Commit() and Rollback() returning Status (duck::Connection, pg::Connection,
// warehouse::Session, the run store).
//
//   STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<pg::Connection>::Begin(conn));
//   STRATA_RETURN_IF_ERROR(conn->Execute(...));   // an early return rolls back
//   return tx.Commit();
//
// Every error path is covered by the destructor, instead of a rollback written before each
// return. A failed Commit leaves nothing to roll back.
#pragma once

#include <utility>

#include "core/status.h"

namespace strata {

template <typename Connection>
class Transaction {
 public:
  static Result<Transaction> Begin(Connection* c) {
    STRATA_RETURN_IF_ERROR(c->Begin());
    return Transaction(c);
  }
  Transaction(Transaction&& other) noexcept : c_(std::exchange(other.c_, nullptr)) {}
  Transaction& operator=(Transaction&& other) noexcept {
    if (this != &other) {
      RollbackNow();
      c_ = std::exchange(other.c_, nullptr);
    }
    return *this;
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() { RollbackNow(); }

  Status Commit() {
    Connection* c = std::exchange(c_, nullptr);
    if (c == nullptr) return Status::Internal("commit of a transaction that is already over");
    return c->Commit();
  }
  // Rolls back at once (the connection stays usable for what comes next).
  void RollbackNow() {
    Connection* c = std::exchange(c_, nullptr);
    if (c == nullptr) return;
    // A connection that knows it is no longer in a transaction (PostgreSQL after the server
    // went away, or after an error that ended it) is left alone.
    if constexpr (requires { c->InTransaction(); }) {
      if (!c->InTransaction()) return;
    }
    (void)c->Rollback();
  }
  bool active() const { return c_ != nullptr; }

 private:
  explicit Transaction(Connection* c) : c_(c) {}
  Connection* c_;
};

}  // namespace strata
