import { SseStream } from '../http/sse';

/**
 * Server-Sent Events the way OpenAI streams them: `data:` lines only (no event names, no ids), ending with
 * `data: [DONE]`.
 */
export class OpenAISse extends SseStream {
  /** The stream's normal end. */
  done(): void {
    this.write('data: [DONE]\n\n');
    this.end();
  }
}
