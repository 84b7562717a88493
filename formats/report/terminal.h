// The terminal view of a report: what shrink, compare and build print on
// stdout, pare check's tables, and the "pare: check failed" lines of the budgets that do not hold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/report/check_common.h"
#include "lib/metrics/report.h"

namespace pare::formats {

// The report as lines for stdout; `output` is the output as this process named
// it (a build subtask's report names only the file).
std::string terminal_text(const metrics::Report& report, const std::string& output);

// Rows of cells as aligned text: each column as wide as its widest cell, two
// spaces between columns, each line after `indent`.
std::string text_table(const std::vector<std::vector<std::string>>& rows, const std::string& indent = "  ");

// "pare: check failed: FILE: WHAT VALUE > budget LIMIT\n" for each failure ("" when none).
std::string failure_lines(const std::string& file, const std::vector<metrics::BudgetResult>& results);

// pare check: the line that counts the models over budget, a table per model
// (with each change since `baseline` when given), and the count line again.
std::string check_text(const metrics::CheckReport& report, const Baseline* baseline);

// "   578966 -> 180080       (-68.9%)"
std::string change_text(int64_t before, int64_t after);
// "30.62" dB, or "inf (identical)".
std::string sqnr_text(const metrics::OutputDiff& d);

}  // namespace pare::formats
