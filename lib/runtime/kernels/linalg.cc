// Linear algebra beyond Gemm/MatMul: Einsum and Det.
//
// Einsum parses its equation once at compile time (explicit "ij,jk->ik" or
// implicit output, "..." for broadcast batch dims, repeated letters for
// diagonals) and runs as one loop over every label's range, accumulating each
// output element in double in a fixed order (thread counts cannot change it).
// It is a reference kernel: adequate for the small contractions mobile models
// hold, not a fast GEMM. Det uses LU with partial pivoting in double.
// Types: float, double, float16; Einsum also int32/int64.
// MACs: Einsum, the product of every label's size (one multiply-accumulate per
// point of the iteration space) times inputs - 1; Det, n^3/3 per matrix.
#include <algorithm>
#include <cmath>
#include <map>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

// Labels are letters; the k-th dim hidden behind "..." gets label 128 + k.
struct Equation {
  std::vector<std::vector<int>> inputs;  // labels per input; -1 marks "..."
  std::vector<int> output;               // -1 marks "..."
  bool explicit_output = false;
};

std::vector<int> parse_term(const KernelInit& init, const std::string& t) {
  std::vector<int> out;
  for (size_t i = 0; i < t.size(); ++i) {
    char ch = t[i];
    if (ch == ' ') continue;
    if (ch == '.') {
      if (t.compare(i, 3, "...") != 0) init.reject("a '.' that is not part of '...'");
      out.push_back(-1);
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(ch))) {
      out.push_back(ch);
    } else {
      init.reject(fmt::format("unexpected character '{}' in the equation", ch));
    }
  }
  return out;
}

Equation parse_equation(const KernelInit& init) {
  std::string eq = init.attr_string("equation", "");
  if (eq.empty()) init.reject("equation is required");
  Equation e;
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    e.inputs.push_back(parse_term(init, lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (arrow != std::string::npos) {
    e.explicit_output = true;
    e.output = parse_term(init, eq.substr(arrow + 2));
  }
  if (e.inputs.size() != init.node.inputs().size())
    init.reject(fmt::format("the equation has {} terms for {} inputs", e.inputs.size(), init.node.inputs().size()));
  return e;
}

class Einsum : public Kernel {
 public:
  explicit Einsum(const KernelInit& init) : eq_(parse_equation(init)) {}
  void compute(KernelContext& ctx) override {
    size_t n_in = ctx.num_inputs();
    // Expand "..." per input and size every label.
    std::map<int, int64_t> size;
    std::vector<std::vector<int>> labels(n_in);
    int64_t ell_rank = 0;
    for (size_t k = 0; k < n_in; ++k) {
      const TensorView& t = required(ctx, k);
      if (!is_numeric(t.dtype) || t.dtype != required(ctx, 0).dtype) compute_error(ctx, "inputs must be numbers of one type");
      int64_t named = 0;
      bool has_ell = false;
      for (int l : eq_.inputs[k]) {
        if (l == -1) has_ell = true;
        else ++named;
      }
      int64_t ell = static_cast<int64_t>(t.rank()) - named;
      if (ell < 0 || (!has_ell && ell != 0))
        compute_error(ctx, fmt::format("input {} has rank {}, which does not fit its term", k, t.rank()));
      ell_rank = std::max(ell_rank, ell);
    }
    // Ellipsis dims are right-aligned across inputs, as numpy broadcasts them.
    for (size_t k = 0; k < n_in; ++k) {
      const TensorView& t = *ctx.input(k);
      int64_t named = 0;
      for (int l : eq_.inputs[k]) named += l != -1;
      int64_t ell = static_cast<int64_t>(t.rank()) - named;
      labels[k].clear();
      for (int l : eq_.inputs[k]) {
        if (l != -1) labels[k].push_back(l);
        else
          for (int64_t j = 0; j < ell; ++j) labels[k].push_back(static_cast<int>(128 + ell_rank - ell + j));
      }
      for (size_t d = 0; d < labels[k].size(); ++d) {
        int l = labels[k][d];
        int64_t s = t.dims[d];
        auto it = size.find(l);
        if (it == size.end() || it->second == 1) size[l] = s;
        else if (s != 1 && s != it->second)
          compute_error(ctx, fmt::format("label '{}' has sizes {} and {}", l < 128 ? std::string(1, char(l)) : "...", it->second, s));
        if (l < 128 && it != size.end() && s != it->second) compute_error(ctx, "a label has two sizes");
      }
    }
    // Output labels.
    std::vector<int> out;
    if (eq_.explicit_output) {
      for (int l : eq_.output) {
        if (l != -1) {
          if (!size.count(l)) compute_error(ctx, fmt::format("output label '{}' is not in any input", char(l)));
          out.push_back(l);
        } else {
          for (int64_t j = 0; j < ell_rank; ++j) out.push_back(static_cast<int>(128 + j));
        }
      }
    } else {
      for (int64_t j = 0; j < ell_rank; ++j) out.push_back(static_cast<int>(128 + j));
      std::map<int, int> count;
      for (const auto& ls : eq_.inputs)
        for (int l : ls)
          if (l != -1) ++count[l];
      for (const auto& [l, c] : count)
        if (c == 1) out.push_back(l);
    }
    std::vector<int> all;  // output labels first, then summed ones
    for (int l : out) all.push_back(l);
    for (const auto& [l, s] : size)
      if (std::find(out.begin(), out.end(), l) == out.end()) all.push_back(l);
    std::vector<int64_t> dims;
    for (int l : out) dims.push_back(size[l]);
    const TensorView& first = *ctx.input(0);
    TensorView& y = ctx.allocate_output(0, first.dtype, dims);
    // Strides of each input along every label (0 where absent or broadcast).
    std::vector<std::vector<int64_t>> strides(n_in, std::vector<int64_t>(all.size(), 0));
    for (size_t k = 0; k < n_in; ++k) {
      auto st = strides_of(ctx.input(k)->dims);
      for (size_t d = 0; d < labels[k].size(); ++d) {
        size_t pos = std::find(all.begin(), all.end(), labels[k][d]) - all.begin();
        if (ctx.input(k)->dims[d] != 1) strides[k][pos] += st[d];
      }
    }
    int64_t out_count = y.numel(), sum_count = 1, points = 0;
    bool overflow = false;
    for (size_t i = out.size(); i < all.size(); ++i) overflow = overflow || __builtin_mul_overflow(sum_count, size[all[i]], &sum_count);
    // The reference loop visits every point of the iteration space: refuse one that would not finish.
    if (overflow || __builtin_mul_overflow(out_count, sum_count, &points) || points > (int64_t{1} << 36))
      compute_error(ctx, "the contraction's iteration space is too large for the reference kernel");
    bool real = is_real(first.dtype);
    std::vector<int64_t> idx(all.size());
    for (int64_t o = 0; o < out_count; ++o) {
      double acc = 0;
      int64_t iacc = 0;
      for (int64_t s = 0; s < sum_count; ++s) {
        int64_t rem = s;
        for (size_t i = all.size(); i-- > out.size();) {
          idx[i] = rem % size[all[i]];
          rem /= size[all[i]];
        }
        rem = o;
        for (size_t i = out.size(); i-- > 0;) {
          idx[i] = rem % size[all[i]];
          rem /= size[all[i]];
        }
        double p = 1;
        int64_t ip = 1;
        for (size_t k = 0; k < n_in; ++k) {
          int64_t off = 0;
          for (size_t i = 0; i < all.size(); ++i) off += idx[i] * strides[k][i];
          if (real) p *= get(*ctx.input(k), off);
          else ip *= get_int(*ctx.input(k), off);
        }
        acc += p;
        iacc += ip;
      }
      if (real) put(y, o, acc);
      else put_int(y, o, iacc);
    }
  }

 private:
  Equation eq_;
};

int64_t einsum_macs(const ir::Node& n, const NodeShapes& s) {
  // Upper bound from the shapes: every label's size once (labels in several inputs counted once).
  std::string eq = n.attr_string("equation", "");
  std::map<char, int64_t> size;
  size_t term = 0, pos = 0;
  for (char ch : eq.substr(0, eq.find("->"))) {
    if (ch == ',') {
      ++term;
      pos = 0;
    } else if (std::isalpha(static_cast<unsigned char>(ch)) && term < s.inputs.size() && pos < s.inputs[term].size()) {
      size[ch] = std::max(size[ch], s.inputs[term][pos++]);
    }
  }
  int64_t points = 1;
  for (const auto& [c, v] : size) points *= v;
  return s.inputs.size() > 1 ? points * static_cast<int64_t>(s.inputs.size() - 1) : 0;
}

class Det : public Kernel {
 public:
  explicit Det(const KernelInit&) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (!is_real(x.dtype)) compute_error(ctx, fmt::format("{} inputs are not supported (float, double, float16)", ir::name(x.dtype)));
    if (x.rank() < 2 || x.dims[x.rank() - 1] != x.dims[x.rank() - 2]) compute_error(ctx, "input must be [*, M, M]");
    int64_t m = x.dims.back(), mats = product(x.dims, 0, x.rank() - 2);
    TensorView& y = ctx.allocate_output(0, x.dtype, std::vector<int64_t>(x.dims.begin(), x.dims.end() - 2));
    std::vector<double> a(static_cast<size_t>(m * m));
    for (int64_t k = 0; k < mats; ++k) {
      for (int64_t i = 0; i < m * m; ++i) a[i] = get(x, k * m * m + i);
      double det = 1;
      for (int64_t c = 0; c < m; ++c) {
        int64_t piv = c;
        for (int64_t r = c + 1; r < m; ++r)
          if (std::fabs(a[r * m + c]) > std::fabs(a[piv * m + c])) piv = r;
        if (a[piv * m + c] == 0) {
          det = 0;
          break;
        }
        if (piv != c) {
          for (int64_t j = 0; j < m; ++j) std::swap(a[c * m + j], a[piv * m + j]);
          det = -det;
        }
        det *= a[c * m + c];
        for (int64_t r = c + 1; r < m; ++r) {
          double f = a[r * m + c] / a[c * m + c];
          for (int64_t j = c; j < m; ++j) a[r * m + j] -= f * a[c * m + j];
        }
      }
      put(y, k, det);
    }
  }
};

int64_t det_macs(const ir::Node&, const NodeShapes& s) {
  const auto& d = s.inputs.at(0);
  if (d.size() < 2) return 0;
  int64_t m = d.back(), mats = 1;
  for (size_t i = 0; i + 2 < d.size(); ++i) mats *= d[i];
  return mats * m * m * m / 3;
}

}  // namespace

std::vector<KernelDef> linalg_kernels() {
  return {
      onnx_op("Einsum", 12, make_kernel<Einsum>, einsum_macs),
      onnx_op("Det", 11, make_kernel<Det>, det_macs),
  };
}

}  // namespace pare::rt::kernels
