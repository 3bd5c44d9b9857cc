export { CompletionQueue, ZcSocket, ZcListener, type Completion, type CompletionKind, type CompletionQueueOptions } from './completions.js';
