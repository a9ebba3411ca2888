import { jestConfig } from '../../jest.config.base.js';

// No shared control plane: the end-to-end test starts the sandbox, which starts its own.
export default jestConfig();
