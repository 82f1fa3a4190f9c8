/* ol_spawn.c: spawn() of the ol_fdpass addon (posix_spawn, exit watched through a pidfd). */
#ifndef OL_SPAWN_H
#define OL_SPAWN_H
#include <node_api.h>

/* Adds `spawn` to exports. */
napi_status ol_define_spawn(napi_env env, napi_value exports);

#endif
