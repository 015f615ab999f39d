// Data docs: a static HTML site of the validation results, in <state_dir>/quality/docs/.
//
//   index.html, index-2.html, ...   every validation, newest first, 100 per page, with a
//                                   summary per suite (runs, latest result, pass rate)
//   validations/<id>.html           one validation: each expectation, what it observed, the
//                                   failing values
//   suites/<suite>.html             one suite: its expectations, kwargs, severity and notes
//
// Updating after a checkpoint writes only the new validations' pages and the index pages from
// a small catalog (docs/catalog.json), so it stays fast with thousands of validations; every
// file is written atomically. The pages are plain HTML with inline CSS: they open from disk,
// and `strata serve` serves them under /quality/.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "quality/checkpoint.h"

namespace strata::quality {

// Adds the validation result files `results` (stored by RunCheckpoint) to the site at
// `paths.docs`, creating it when needed. Returns the index page's path.
Result<std::string> UpdateDataDocs(const QualityPaths& paths, const std::vector<std::string>& results);

// Rebuilds the whole site from every result under `paths.validations`.
Result<std::string> RebuildDataDocs(const QualityPaths& paths);

}  // namespace strata::quality
