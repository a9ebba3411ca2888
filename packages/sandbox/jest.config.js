import { jestConfig } from '../../jest.config.base.js';

// Pure tests only: the sandbox itself starts a whole control plane (see README's `./dev run`).
export default jestConfig();
