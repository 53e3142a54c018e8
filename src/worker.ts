// Transitional: src/scripts/start.ts, bench/stack.ts and docker-compose.yml still start this path.
// Delete once they start src/worker/main.ts (dist/src/worker/main.js).
import './worker/main';
