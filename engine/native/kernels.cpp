// The one translation unit the builder compiles: PyTorch's headers are parsed once
// (that parse is most of the build time), the kernels stay in their own files.
#include "recurrence.cpp"
#include "jacobian.cpp"
