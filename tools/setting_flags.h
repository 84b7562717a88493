// The command-line flag of each library Setting (lib/base/settings.h), shared by
// pare and pare-run: installed at start-up, it makes library messages name the
// flag that fixes them ("fix it with --dim batch=N").
#pragma once

#include <string>

#include "lib/base/settings.h"

namespace pare::cli {

// Each flag is "--" and the setting's key, but for pare check's report, --json.
inline std::string setting_flag(Setting s, const std::string& value) {
  std::string flag = s == Setting::kCheckReportFile ? "--json" : "--" + setting_key(s);
  return value.empty() ? flag : flag + " " + value;
}

}  // namespace pare::cli
