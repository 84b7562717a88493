/* pare's runtime as a C library: load an ONNX model once, run it many times.
 *
 * Plain C (C99 and C++ alike): no exceptions and no C++ types cross this
 * interface. Every function that can fail returns PARE_OK (0) or PARE_ERROR,
 * or NULL for a constructor, and pare_last_error() then says why in one line
 * (per thread). Strings and buffers returned belong to the session and stay
 * valid until the next pare_session_run() on it, or its destruction.
 *
 * A session is not safe to use from two threads at once; sessions are
 * independent of each other. Results never depend on the thread count.
 */
#ifndef PARE_PARE_H
#define PARE_PARE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PARE_API_VERSION 1

#if defined(__GNUC__)
#define PARE_API __attribute__((visibility("default")))
#else
#define PARE_API
#endif

enum { PARE_OK = 0, PARE_ERROR = 1 };

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum pare_dtype {
  PARE_DTYPE_UNDEFINED = 0,
  PARE_DTYPE_FLOAT = 1,
  PARE_DTYPE_UINT8 = 2,
  PARE_DTYPE_INT8 = 3,
  PARE_DTYPE_UINT16 = 4,
  PARE_DTYPE_INT16 = 5,
  PARE_DTYPE_INT32 = 6,
  PARE_DTYPE_INT64 = 7,
  PARE_DTYPE_BOOL = 9,
  PARE_DTYPE_FLOAT16 = 10,
  PARE_DTYPE_DOUBLE = 11,
  PARE_DTYPE_UINT32 = 12,
  PARE_DTYPE_UINT64 = 13
} pare_dtype;

#define PARE_MAX_RANK 8

/* What a model declares for an input or output, or what a run produced.
 * A dim of -1 is unknown or symbolic (its name is then in `dim_names`, if any). */
typedef struct pare_tensor_info {
  const char* name;
  pare_dtype dtype;
  int known_rank; /* 0 when the model does not declare the rank (then rank is 0) */
  size_t rank;    /* ranks above PARE_MAX_RANK are refused */
  int64_t dims[PARE_MAX_RANK];
  const char* dim_names[PARE_MAX_RANK]; /* "" when the dim is known or unnamed */
} pare_tensor_info;

typedef struct pare_options {
  size_t struct_size; /* sizeof(pare_options): lets later versions add fields */
  int threads;        /* 1 (default) to 256 */
} pare_options;

typedef struct pare_session pare_session;

/* Fills `o` with the defaults. */
PARE_API void pare_options_init(pare_options* o);

/* Loads and compiles a model; `options` may be NULL. NULL on failure. */
PARE_API pare_session* pare_session_create(const char* model_path, const pare_options* options);
/* The same from a model in memory (external data is not allowed then). */
PARE_API pare_session* pare_session_create_from_buffer(const void* data, size_t size, const pare_options* options);
PARE_API void pare_session_destroy(pare_session* session);

PARE_API size_t pare_session_input_count(const pare_session* session);
PARE_API size_t pare_session_output_count(const pare_session* session);
/* Declared type and shape of input / output `index`. */
PARE_API int pare_session_input_info(const pare_session* session, size_t index, pare_tensor_info* info);
PARE_API int pare_session_output_info(const pare_session* session, size_t index, pare_tensor_info* info);
PARE_API int pare_session_threads(const pare_session* session);

/* Sets input `index` for the next run; the bytes are copied (dense, row-major,
 * little-endian; `bytes` must equal the element count times the element size). */
PARE_API int pare_session_set_input(pare_session* session, size_t index, pare_dtype dtype, const int64_t* dims,
                                    size_t rank, const void* data, size_t bytes);
/* Runs the model on the inputs set; all must be set. */
PARE_API int pare_session_run(pare_session* session);
/* Output `index` of the last run: its type and shape, and its bytes. */
PARE_API int pare_session_output(const pare_session* session, size_t index, pare_tensor_info* info,
                                 const void** data, size_t* bytes);

/* The reason of the last failure on this thread ("" if none). */
PARE_API const char* pare_last_error(void);
/* "0.1.0" */
PARE_API const char* pare_version(void);

#ifdef __cplusplus
}
#endif

#endif /* PARE_PARE_H */
