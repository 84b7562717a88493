// What the Markdown and HTML views of the shrink report share (internal to
// formats/report): reading the JSON leniently, the number formats of report.h,
// the size table's rows and the HTML escaping. The charts are html_charts.cc.
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pare::formats::view {

using json = nlohmann::json;

// ---- reading

const json& null_json();
// j[key], or null when j is not an object or has no such key.
const json& member(const json& j, const char* key);
// Text of a JSON value: a string as it is, null as "", anything else as JSON.
std::string text(const json& j);
// The items of an array section, or none.
const json& array_of(const json& j, const char* key);
// The strings of an array section joined by ", " ("Equal, ArgMax").
std::string joined(const json& j, const char* key);
// "input", "output", "pipeline", "before" and "after" are there; else pare::Error.
void check_required(const json& r);

// ---- numbers (report.h)

enum class Kind { Int, Db, Cosine, Abs, Frac, Generic };
int decimals(Kind k);
// The exact JSON spelling of a number, for data-value.
std::string exact(const json& v);
std::string fixed(double v, int places);
// A number by its kind; "unknown" for null.
std::string num(const json& v, Kind k);
std::string human(const json& v);
// "+12.3%" for after relative to before; "n/a" when it cannot be computed.
std::string change_pct(const json& before, const json& after);
// "+1234" / "-1234" bytes relative to the previous row; "" when unknown.
std::string delta(const json& prev, const json& cur);
Kind budget_kind(const std::string& what);
// A budget's value and limit as text; one that is over gets more decimals
// until the two read differently (so "30.00 over 30.00" never shows).
std::pair<std::string, std::string> budget_numbers(const json& b);
std::string budget_status(const json& b);
std::string yes_no(const json& v);
// The per-layer section's heading sentence and column names, the same in every view.
std::string worst_tensors(size_t shown, size_t total);
const std::vector<std::string>& layer_columns();
// "constants_removed=1, folded=1", or "no change".
std::string stats_text(const json& stats);
// A fidelity row's spread over samples (metrics::SampleSpread): "29.10 to 32.02"
// for the SQNR of 90% of resamples, and "41% (24.10 dB alone)" for the share of
// the error its loudest sample carries; "n/a" without a spread.
std::string spread_range(const json& fidelity_row);
std::string loudest_share(const json& fidelity_row);
// Whether some row of the fidelity section, or a row before its steps, has a spread.
bool any_spread(const json& fidelity);
// The accuracy section's change over resamples: "-0.40 to +0.80 points", or "n/a".
std::string accuracy_change_range(const json& accuracy);
// The sentence under a fidelity table with spreads.
inline constexpr const char* kSpreadNote =
    "Over resamples: the SQNR of 90% of 1000 draws of the samples with replacement (a bootstrap), where it could "
    "lie with other samples like these. The loudest sample is the one whose error weighs most in the sum.";

// ---- sections

// The rows of the size table: (label, key, is a size in bytes).
struct Quantity {
  const char* label;
  const char* key;
  const char* id;
  bool bytes;
};
constexpr Quantity kQuantities[] = {{"file bytes", "file_bytes", "file-bytes", true},
                                    {"download bytes", "download_bytes", "download-bytes", true},
                                    {"parameters", "parameters", "parameters", false},
                                    {"nodes", "nodes", "nodes", false}};


// The dtypes in either weight_bytes object, sorted, without "total".
std::vector<std::string> dtypes_of(const json& before, const json& after);
// The bytes of `dtype` in a weight_bytes object: a dtype the model does not hold has 0.
json dtype_bytes(const json& weights, const std::string& dtype);

// The layers that hold the most weight bytes after, with the same node's entry
// before (null when the node is new or was renamed): "size by layer".
constexpr size_t kTopLayers = 20;
struct LayerSize {
  const json* after;
  json before_bytes;
};
std::vector<LayerSize> top_layers(const json& before, const json& after);
bool has_waterfall(const json& passes);

// ---- HTML

// Escaped for HTML text and attributes, and for XML (JUnit): & < > " ' as entities,
// newline, CR and tab as character references, other control characters as ?.
std::string esc(std::string_view s);
// An id fragment: [A-Za-z0-9_-] kept, anything else '_'.
std::string id_part(std::string_view s);
// At most `max` characters (UTF-8 code points), the last one "…" when cut.
std::string shorten(const std::string& s, size_t max);
// ' data-value="N"' for a number, else "".
std::string data_value(const json& v);

// The charts (html_charts.cc): file and download bytes of the original and
// after each step; weight bytes by dtype; weight bytes of the largest layers;
// SQNR of the worst layers.
std::string waterfall_chart(const json& r);
std::string dtype_chart(const json& wb, const json& wa);
std::string layer_size_chart(const std::vector<LayerSize>& layers);
std::string layer_chart(const json& layers, const json& budgets);
// pare tune's verified configurations: download bytes against the fidelity
// figure ("sqnr_db", else "top1_drop"), the chosen one marked.
std::string pareto_chart(const json& tune);
// The fidelity figure of a tune front entry and its name: SQNR, else top-1 drop.
std::pair<const char*, const char*> front_metric(const json& front);

}  // namespace pare::formats::view
