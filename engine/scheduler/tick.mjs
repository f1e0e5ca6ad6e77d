// A bree job: it only tells the engine which job is due. The work runs in the engine's own
// thread, where the database connection lives (the embedded database is one connection).
import { parentPort, workerData } from 'node:worker_threads';

parentPort?.postMessage({ job: workerData?.job });
