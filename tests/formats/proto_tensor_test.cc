// TensorProto decoding: external data offsets and lengths written by hand or damaged.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include "formats/onnx/proto_tensor.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "tests/support/models.h"

namespace pare::formats::onnx {
namespace {

// A float tensor 'w' of `count` elements whose data is in w.bin (64 bytes: 16 floats)
// in a fresh folder, with the given external_data key-values besides the location.
struct External {
  std::string dir = testing::temp_dir();
  ::onnx::TensorProto proto;
  External(int64_t count, const std::vector<std::pair<std::string, std::string>>& keys) {
    write_file_atomic(dir + "/w.bin", std::string(64, '\0'));
    proto.set_name("w");
    proto.set_data_type(::onnx::TensorProto::FLOAT);
    proto.add_dims(count);
    proto.set_data_location(::onnx::TensorProto::EXTERNAL);
    auto* loc = proto.add_external_data();
    loc->set_key("location");
    loc->set_value("w.bin");
    for (const auto& [k, v] : keys) {
      auto* kv = proto.add_external_data();
      kv->set_key(k);
      kv->set_value(v);
    }
  }
  ir::Tensor load() const { return tensor_from_proto(proto, dir); }
};

// The pare::Error message of loading, or "" when the tensor loads.
std::string load_error(const External& e) {
  try {
    e.load();
  } catch (const Error& err) {
    return err.what();
  }
  return "";
}

TEST(ExternalData, ValidOffsetsAndLengthsLoad) {
  EXPECT_EQ(External(16, {}).load().numel(), 16);
  EXPECT_EQ(External(16, {{"offset", "0"}, {"length", "64"}}).load().numel(), 16);
  EXPECT_EQ(External(12, {{"offset", "16"}}).load().numel(), 12);
  EXPECT_EQ(External(4, {{"offset", "0016"}, {"length", "16"}}).load().numel(), 4);
  EXPECT_EQ(External(0, {{"offset", "64"}, {"length", "0"}}).load().numel(), 0);
}

TEST(ExternalData, OffsetOrLengthThatIsNotANonNegativeIntegerIsAnErrorNamingTensorAndValue) {
  for (const char* key : {"offset", "length"}) {
    for (const std::string bad : {"abc", "-1024", "-1", "", " 64", "64 ", "+64", "12abc", "0x40", "1e3"}) {
      std::string m = load_error(External(16, {{key, bad}}));
      EXPECT_NE(m.find("tensor 'w': external data " + std::string(key) + " '" + bad + "' is not a non-negative integer"),
                std::string::npos)
          << key << "='" << bad << "' gave: " << m;
    }
  }
}

TEST(ExternalData, OffsetOrLengthBeyondInt64IsAnErrorNamingTensorAndValue) {
  for (const char* key : {"offset", "length"}) {
    std::string m = load_error(External(16, {{key, "100000000000000000000"}}));
    EXPECT_NE(m.find("tensor 'w': external data " + std::string(key) + " '100000000000000000000' is too large"),
              std::string::npos)
        << m;
  }
}

TEST(ExternalData, RangeNearInt64MaxIsOutsideTheFileNotAnOverflow) {
  std::string max = "9223372036854775807";
  for (const auto& keys : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"offset", max}, {"length", max}}, {{"offset", "32"}, {"length", max}}, {{"offset", max}}}) {
    std::string m = load_error(External(16, keys));
    EXPECT_NE(m.find("tensor 'w': external data range"), std::string::npos) << m;
    EXPECT_NE(m.find("lies outside 'w.bin' (64 bytes)"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace pare::formats::onnx
