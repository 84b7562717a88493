// TfIdfVectorizer over integer token ids (pool_int64s; string pools are refused:
// the runner has no string tensors). For each row, every n-gram of length
// min_gram_length..max_gram_length whose items are `skip + 1` apart (skip up to
// max_skip_count) and that is in the pool adds 1 to its output slot
// (ngram_indexes); unigrams are counted once, not once per skip. The counts are
// then weighted: TF (counts), IDF (weight where count > 0), TFIDF (count *
// weight). Output float [max(ngram_indexes) + 1] or [rows, that]. MACs: 0.
#include <map>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

class TfIdfVectorizer : public Kernel {
 public:
  explicit TfIdfVectorizer(const KernelInit& init)
      : min_n_(init.attr_int("min_gram_length", 0)), max_n_(init.attr_int("max_gram_length", 0)),
        max_skip_(init.attr_int("max_skip_count", 0)), weights_(init.node.attr("weights") ? init.node.attr("weights")->floats : std::vector<float>{}) {
    std::string mode = init.attr_string("mode", "");
    if (mode == "TF") mode_ = 0;
    else if (mode == "IDF") mode_ = 1;
    else if (mode == "TFIDF") mode_ = 2;
    else init.reject(fmt::format("mode '{}' is not TF, IDF or TFIDF", mode));
    if (init.node.has_attr("pool_strings")) init.reject("string pools are not supported (the runner has no string tensors)");
    if (min_n_ < 1 || max_n_ < min_n_ || max_skip_ < 0) init.reject("need 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0");
    auto pool = init.attr_ints("pool_int64s");
    auto counts = init.attr_ints("ngram_counts");
    auto indexes = init.attr_ints("ngram_indexes");
    if (indexes.empty()) init.reject("ngram_indexes is required");
    if (!weights_.empty() && weights_.size() != indexes.size()) init.reject("weights must have one value per n-gram");
    // The pool holds 1-grams from counts[0], 2-grams from counts[1], ...; the k-th
    // n-gram in pool order maps to output slot indexes[k].
    size_t k = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      int64_t n = static_cast<int64_t>(i) + 1;
      int64_t begin = counts[i], end = i + 1 < counts.size() ? counts[i + 1] : static_cast<int64_t>(pool.size());
      if (begin < 0 || end > static_cast<int64_t>(pool.size()) || begin > end || (end - begin) % n)
        init.reject("ngram_counts does not divide pool_int64s into n-grams");
      for (int64_t p = begin; p < end; p += n, ++k) {
        if (k >= indexes.size()) init.reject("more n-grams in the pool than ngram_indexes");
        grams_[std::vector<int64_t>(pool.begin() + p, pool.begin() + p + n)] = k;
      }
    }
    for (int64_t i : indexes) {
      if (i < 0) init.reject("ngram_indexes must be >= 0");
      out_size_ = std::max(out_size_, i + 1);
    }
    indexes_ = indexes;
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (x.dtype != DataType::kInt32 && x.dtype != DataType::kInt64) compute_error(ctx, "input must be int32 or int64 token ids");
    if (x.rank() != 1 && x.rank() != 2) compute_error(ctx, "input must be [N] or [rows, N]");
    int64_t rows = x.rank() == 2 ? x.dims[0] : 1, len = x.dims.back();
    std::vector<int64_t> dims = x.rank() == 2 ? std::vector<int64_t>{rows, out_size_} : std::vector<int64_t>{out_size_};
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, dims);
    std::vector<double> count(static_cast<size_t>(rows * out_size_), 0);
    for (int64_t row = 0; row < rows; ++row) {
      int64_t start_n = min_n_;
      for (int64_t dist = 1; dist <= max_skip_ + 1; ++dist) {
        for (int64_t s = 0; s < len; ++s) {
          std::vector<int64_t> gram;
          for (int64_t n = 1; n <= max_n_ && s + (n - 1) * dist < len; ++n) {
            gram.push_back(get_int(x, row * len + s + (n - 1) * dist));
            if (n < start_n) continue;
            auto it = grams_.find(gram);
            if (it != grams_.end()) count[row * out_size_ + indexes_[it->second]] += 1;
          }
        }
        if (start_n == 1 && ++start_n > max_n_) break;  // unigrams do not depend on the skip
      }
    }
    for (size_t i = 0; i < count.size(); ++i) y.as<float>()[i] = static_cast<float>(count[i]);  // TF
    if (mode_ != 0) {
      std::vector<double> slot_weight(static_cast<size_t>(out_size_), 1.0);
      for (size_t k = 0; k < indexes_.size(); ++k) slot_weight[indexes_[k]] = weights_.empty() ? 1.0 : weights_[k];
      for (int64_t row = 0; row < rows; ++row)
        for (int64_t j = 0; j < out_size_; ++j) {
          double c = count[row * out_size_ + j];
          y.as<float>()[row * out_size_ + j] = static_cast<float>(mode_ == 1 ? (c > 0 ? slot_weight[j] : 0) : c * slot_weight[j]);
        }
    }
  }

 private:
  int64_t min_n_, max_n_, max_skip_;
  std::vector<float> weights_;
  int mode_ = 0;
  std::map<std::vector<int64_t>, size_t> grams_;
  std::vector<int64_t> indexes_;
  int64_t out_size_ = 0;
};

}  // namespace

std::vector<KernelDef> text_kernels() {
  return {
      onnx_op("TfIdfVectorizer", 9, make_kernel<TfIdfVectorizer>),
  };
}

}  // namespace pare::rt::kernels
