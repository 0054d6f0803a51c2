/* Serving as a worker of a run on another host.
 *
 * The ssh backend starts, on each host, a process that speaks hodos's
 * wire protocol on its standard input and output: `hodos worker --stdio`
 * by default, which runs shell tasks and the functions of the plugins
 * the run names. A program that registers its own functions can serve
 * instead, so that they run remotely without a plugin, the way every
 * MPI rank runs the same binary: call hd_worker_main() first thing in
 * main(), and name the program as the hosts' command.
 *
 *   int main(int argc, char **argv) {
 *     hd_fn_register("align", align, NULL);
 *     int status;
 *     if (hd_worker_main(argc, argv, &status))
 *       return status;   // started by ssh as "PROGRAM --hodos-worker"
 *     ...                // the program's own work, which may hd_run()
 *   }
 *
 * The worker receives the run's plan first, opens its plugins, moves to
 * the folder the run was started in when that exists there, and then
 * runs one task at a time until hodos says goodbye or goes away. What a
 * task prints on standard output goes to standard error. Unless the
 * program has set a log callback (hd_log_set_cb()), hd_worker_main()
 * writes the worker's errors and warnings there too, such as why it
 * refuses a frame: hodos shows the end of a failed session's standard
 * error. */
#ifndef HODOS_WORKER_H
#define HODOS_WORKER_H

#include "common.h"

HD_BEGIN_DECLS

/* Serve one run on in_fd (frames from hodos) and out_fd (frames to it);
 * returns when hodos ends the session or goes away (HD_OK), or when it
 * sent something that is not the protocol (HD_ECORRUPT); HD_ENOMEM,
 * HD_EIO, HD_EINVAL. Blocks; one per process. */
HD_API int hd_worker_serve(int in_fd, int out_fd);

/* Serve one run on the connection fd, which must first present token in
 * an AUTH frame, within ten seconds: how `hodos serve` serves each
 * connection that reaches it through an ssh tunnel. Returns HD_EACCES for
 * a connection that does not, else as hd_worker_serve(). */
HD_API int hd_worker_serve_token(int fd, const char *token);

/* When argv[1] is "--hodos-worker", serve on standard input and output,
 * set *status to the process's exit status (0 on success) and return 1;
 * otherwise return 0 at once. */
HD_API int hd_worker_main(int argc, char **argv, int *status);

HD_END_DECLS

#endif
