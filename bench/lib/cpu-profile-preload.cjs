'use strict';
// A CPU profiler the benchmark preloads into ONE service with NODE_OPTIONS="--require <this file>".
// Node 20 refuses --cpu-prof in NODE_OPTIONS, and a NestJS service that gets SIGTERM re-raises the signal
// after closing, so a --cpu-prof profile would never be written. This drives the same V8 sampling profiler
// through node:inspector and writes the same .cpuprofile format, over exactly the window the benchmark asks:
//   KEELSON_BENCH_CPU_PROFILE=<path prefix>  (unset: this file does nothing)
//   <prefix>.start appears -> start sampling (every 1 ms, as --cpu-prof does)
//   <prefix>.stop appears  -> stop, write <prefix>.cpuprofile, then <prefix>.done
// The control files are polled every 100 ms by an unref'd timer; nothing else runs in the service.
const prefix = process.env.KEELSON_BENCH_CPU_PROFILE;
if (prefix) {
  const fs = require('node:fs');
  const inspector = require('node:inspector');
  let session;
  let state = 'waiting';
  const timer = setInterval(() => {
    try {
      if (state === 'waiting' && fs.existsSync(`${prefix}.start`)) {
        state = 'sampling';
        session = new inspector.Session();
        session.connect();
        session.post('Profiler.enable');
        session.post('Profiler.setSamplingInterval', { interval: 1000 });
        session.post('Profiler.start');
      } else if (state === 'sampling' && fs.existsSync(`${prefix}.stop`)) {
        state = 'done';
        clearInterval(timer);
        session.post('Profiler.stop', (err, result) => {
          if (!err) fs.writeFileSync(`${prefix}.cpuprofile`, JSON.stringify(result.profile));
          fs.writeFileSync(`${prefix}.done`, err ? `error: ${err.message}` : 'ok');
          session.disconnect();
        });
      }
    } catch (err) {
      state = 'done';
      clearInterval(timer);
      try {
        fs.writeFileSync(`${prefix}.done`, `error: ${err.message}`);
      } catch {
        // nowhere left to report it; the benchmark times out waiting for .done and says so
      }
    }
  }, 100);
  timer.unref();
}
