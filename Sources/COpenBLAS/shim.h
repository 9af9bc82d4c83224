#include <cblas.h>

// LAPACK's Cholesky factorization and inverse from it, which OpenBLAS
// ships beside CBLAS (GPTQ's damped inverse Hessian, Sources/IngotQuant/GPTQ).
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);
