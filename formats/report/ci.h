// The CI views of pare check's report: GitHub Actions annotations and step
// summary (github.cc), JUnit XML (junit.cc).
#pragma once

#include <string>

#include "formats/report/check_common.h"
#include "lib/metrics/report.h"

namespace pare::formats {

// One "::error file=NAME::WHAT VALUE exceeds budget LIMIT" line per failure.
std::string github_annotations(const metrics::CheckReport& report);
// The Markdown table for $GITHUB_STEP_SUMMARY (with changes since `baseline` when given).
std::string github_summary(const metrics::CheckReport& report, const Baseline* baseline);
// A testsuite with a testcase per model; a model over budget has a failure with its lines.
std::string junit_xml(const metrics::CheckReport& report);

}  // namespace pare::formats
