// A kernel that computes only an epilogue (epilogue.h) on its first input: what
// the session runs for an activation followed by a QuantizeLinear ->
// DequantizeLinear round trip, or for such a round trip alone, when no Conv
// precedes them to take them into its own epilogue. One pass over memory
// instead of two or three, vectorised.
#pragma once

#include <memory>

#include "lib/runtime/epilogue.h"
#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

std::unique_ptr<Kernel> make_epilogue_kernel(const Epilogue& epilogue, Isa isa);

}  // namespace pare::rt::kernels
