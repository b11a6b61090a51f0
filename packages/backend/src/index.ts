export { useBackend, type BackendName, type BackendChoice } from './use-backend.js';
export { tf } from './tf.js';
