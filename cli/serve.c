/* hodos serve: a long-lived worker server on a host, reached by runs
 * through ssh tunnels; each connection must present the shared token. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

void help_serve(FILE *out) {
  fputs("Usage: hodos serve [--listen [ADDR:]PORT] [--token-file FILE]\n"
        "\n"
        "Serve as a long-lived worker on this host: each connection is one\n"
        "run's worker, as 'hodos worker --stdio' is for a session of ssh.\n"
        "Runs reach it through an ssh tunnel that they open themselves\n"
        "('hodos run --hosts HOST --tunnel PORT'). Every connection must\n"
        "first present the shared token, from --token-file or $HODOS_TOKEN\n"
        "(at least 16 characters); one that does not is closed.\n"
        "\n"
        "Options:\n"
        "  -l, --listen [ADDR:]PORT  where to listen (default address\n"
        "                      127.0.0.1: only this host, and the tunnels\n"
        "                      of its ssh server, can connect)\n"
        "  -t, --token-file FILE  read the token from the first line of\n"
        "                      FILE (else $HODOS_TOKEN)\n"
        "  -h, --help          show this help\n"
        "\n"
        "It runs until SIGINT or SIGTERM, which end it and the sessions it\n"
        "serves.\n"
        "\n"
        "Exit status: 0 stopped by a signal; 1 it cannot listen; 2 a usage\n"
        "error (no token, a bad address).\n"
        "\n"
        "Example:\n"
        "  HODOS_TOKEN=$(cat ~/.hodos-token) hodos serve --listen 7878 &\n",
        out);
}

static volatile sig_atomic_t stop;

static void on_stop(int sig) {
  (void)sig;
  stop = 1;
}

/* The token: the first line of file, or $HODOS_TOKEN. */
static char *read_token(const char *file) {
  if (file == NULL) {
    const char *t = getenv("HODOS_TOKEN");
    return t != NULL ? strdup(t) : NULL;
  }
  FILE *f = fopen(file, "r");
  if (f == NULL) {
    cli_error("cannot read the token file %s: %s", file, strerror(errno));
    return NULL;
  }
  char buf[4097];
  char *line = fgets(buf, sizeof(buf), f);
  fclose(f);
  if (line == NULL)
    return strdup("");
  buf[strcspn(buf, "\r\n")] = '\0';
  return strdup(buf);
}

static int listen_on(const char *spec) {
  char host[256] = "127.0.0.1";
  const char *port = spec;
  const char *colon = strrchr(spec, ':');
  if (colon != NULL) {
    size_t n = (size_t)(colon - spec);
    if (n == 0 || n >= sizeof(host)) {
      cli_error("--listen takes [ADDR:]PORT, not '%s'", spec);
      return -2;
    }
    memcpy(host, spec, n);
    host[n] = '\0';
    port = colon + 1;
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    cli_error("--listen %s: %s", spec, gai_strerror(rc));
    return -2;
  }
  int fd =
      socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
  int one = 1;
  if (fd >= 0)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
      listen(fd, 64) != 0) {
    cli_error("cannot listen on %s: %s", spec, strerror(errno));
    if (fd >= 0)
      close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

int cmd_serve(int argc, char **argv) {
  const char *spec = NULL, *token_file = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      help_serve(stdout);
      return EXIT_OK;
    }
    const char **to = strcmp(a, "-l") == 0 || strcmp(a, "--listen") == 0 ? &spec
                      : strcmp(a, "-t") == 0 || strcmp(a, "--token-file") == 0
                          ? &token_file
                          : NULL;
    if (to == NULL) {
      cli_error("unknown argument '%s'; see 'hodos help serve'", a);
      return EXIT_USAGE;
    }
    if (i + 1 >= argc) {
      cli_error("option '%s' needs a value; see 'hodos help serve'", a);
      return EXIT_USAGE;
    }
    *to = argv[++i];
  }
  if (spec == NULL) {
    cli_error("'hodos serve' needs --listen [ADDR:]PORT");
    return EXIT_USAGE;
  }
  char *token = read_token(token_file);
  if (token == NULL || strlen(token) < 16) {
    if (token_file != NULL && token == NULL) {
      free(token);
      return EXIT_USAGE;
    }
    cli_error("'hodos serve' needs a token of at least 16 characters, from "
              "--token-file or $HODOS_TOKEN");
    free(token);
    return EXIT_USAGE;
  }
  int lfd = listen_on(spec);
  if (lfd < 0) {
    free(token);
    return lfd == -2 ? EXIT_USAGE : EXIT_FAILED;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  cli_note("serving on %s", spec);
  pid_t *kids = NULL;
  size_t nkids = 0, capkids = 0;
  while (!stop) {
    pid_t done;
    while ((done = waitpid(-1, NULL, WNOHANG)) > 0)
      for (size_t k = 0; k < nkids; k++)
        if (kids[k] == done)
          kids[k] = kids[--nkids];
    struct pollfd pfd = {lfd, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0)
      continue;
    struct sockaddr_storage from;
    socklen_t flen = sizeof(from);
    int cfd = accept(lfd, (struct sockaddr *)&from, &flen);
    if (cfd < 0)
      continue;
    /* Not inherited by the tasks the session runs (see worker.c). */
    (void)fcntl(cfd, F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
      close(lfd);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      int rc = hd_worker_serve_token(cfd, token);
      if (rc == HD_EACCES) {
        char addr[INET6_ADDRSTRLEN] = "?";
        if (from.ss_family == AF_INET)
          inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, addr,
                    sizeof(addr));
        else if (from.ss_family == AF_INET6)
          inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, addr,
                    sizeof(addr));
        cli_error("refused a connection from %s: no valid token", addr);
      }
      _exit(rc == HD_OK ? 0 : 1);
    }
    if (pid > 0 && nkids == capkids) {
      size_t cap = capkids ? 2 * capkids : 16;
      pid_t *grown = realloc(kids, cap * sizeof(pid_t));
      if (grown != NULL) {
        kids = grown;
        capkids = cap;
      }
    }
    if (pid > 0 && nkids < capkids)
      kids[nkids++] = pid;
    close(cfd);
  }
  close(lfd);
  /* The sessions served end with the server: asked to stop, then
     killed 5 seconds later if a task keeps one from ending. */
  for (size_t k = 0; k < nkids; k++)
    kill(kids[k], SIGTERM);
  for (int tries = 0; nkids > 0 && tries < 50; tries++) {
    pid_t done;
    while ((done = waitpid(-1, NULL, WNOHANG)) > 0)
      for (size_t k = 0; k < nkids; k++)
        if (kids[k] == done)
          kids[k] = kids[--nkids];
    if (nkids > 0)
      usleep(100000);
  }
  for (size_t k = 0; k < nkids; k++)
    kill(kids[k], SIGKILL);
  while (wait(NULL) > 0 || errno == EINTR)
    ;
  free(kids);
  free(token);
  cli_note("stopped");
  return EXIT_OK;
}
