// What action.yml runs (bundled as dist/action.js).
import { run } from './main.ts';

await run();
