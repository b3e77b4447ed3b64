'use strict';
// Lets a bench that starts every service with the same environment (e2e's startMesh) profile ONE of them:
//   KEELSON_BENCH_PROFILE_SERVICE=<SERVICE_NAME>  KEELSON_BENCH_PROFILE_PREFIX=<path prefix>
// In that service only, it sets KEELSON_BENCH_CPU_PROFILE=<prefix>-<service> and loads the profiler
// preload (cpu-profile-preload.cjs, which describes the .start/.stop/.done protocol); elsewhere it does nothing.
const wanted = process.env.KEELSON_BENCH_PROFILE_SERVICE;
if (wanted && wanted === process.env.SERVICE_NAME && process.env.KEELSON_BENCH_PROFILE_PREFIX) {
  process.env.KEELSON_BENCH_CPU_PROFILE = `${process.env.KEELSON_BENCH_PROFILE_PREFIX}-${wanted}`;
  require('./cpu-profile-preload.cjs');
}
