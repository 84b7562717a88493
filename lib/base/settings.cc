#include "lib/base/settings.h"

namespace pare {
namespace {

SettingSpeller g_speller = nullptr;

}  // namespace

std::string setting_key(Setting s) {
  switch (s) {
    case Setting::kDim: return "dim";
    case Setting::kInputShape: return "input-shape";
    case Setting::kImageSize: return "image-size";
    case Setting::kReportFile: return "report";
    case Setting::kCheckReportFile: return "check-report";
  }
  return "";
}

std::string spell(Setting s, const std::string& value) {
  if (g_speller) return g_speller(s, value);
  return "<" + setting_key(s) + ">" + (value.empty() ? "" : " " + value);
}

void set_setting_speller(SettingSpeller speller) { g_speller = speller; }

}  // namespace pare
