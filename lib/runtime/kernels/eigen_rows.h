// Row-major float matrices, and maps of them over the runtime's buffers, for
// the kernels that keep Eigen as their portable path or their whole method
// (Conv and ConvTranspose with computed weights, Gemm and MatMul, the RNNs).
// One set of names for all of them: the unity build batches these files
// together.
#pragma once

#include <Eigen/Core>

namespace pare::rt::kernels {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor>;
using Map = Eigen::Map<RowMajor>;

}  // namespace pare::rt::kernels
