/* Thread counts. Every kernel of the library sizes its OpenMP team from the thread count it is given
 * (num_threads(nthreads)); the threaded BLAS (OpenBLAS) keeps a pool of its own, sized here. */
#ifndef TL_CORE_THREADS_H
#define TL_CORE_THREADS_H

/* Sets the BLAS pool to n threads (n >= 1). Process-wide, as OpenBLAS has one pool: tl_model_init
 * calls it with the model's thread count, so --threads governs the BLAS calls too. */
void tl_threads_set_blas(int n);

#endif
