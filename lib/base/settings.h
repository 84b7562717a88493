// How a message names something the user can set: a symbolic dim's size, an
// input's shape, the image size, the report file. Library code names the
// setting as data (Setting) and never spells a front end's flag; the front end
// installs its spelling once at start-up (pare's CLI: "--dim batch=N"), so a
// message built deep down, even one kept in a report, reads in its terms.
#pragma once

#include <string>

namespace pare {

enum class Setting {
  kDim,              // the size of a symbolic dim: NAME=N
  kInputShape,       // the whole shape of an input: NAME=SHAPE
  kImageSize,        // the size images are resized to: WxH
  kReportFile,       // the JSON report file of shrink and build
  kCheckReportFile,  // the JSON report file of check
};

// The setting's name as data: "dim", "input-shape", "image-size", "report", "check-report".
std::string setting_key(Setting s);

// The setting followed by `value` (when not empty), as the front end spells it:
// "--dim batch=N" in pare; without a front end "<dim> batch=N".
std::string spell(Setting s, const std::string& value = "");

// The front end's spelling; installed once, before any work (nullptr: the default).
using SettingSpeller = std::string (*)(Setting s, const std::string& value);
void set_setting_speller(SettingSpeller speller);

}  // namespace pare
