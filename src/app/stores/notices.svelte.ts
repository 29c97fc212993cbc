/** Short messages at the edge of the screen: errors stay until dismissed, others fade. */
import { errorMessage } from '../worker-client.ts';

export interface Notice {
  readonly id: number;
  readonly kind: 'error' | 'info' | 'success';
  readonly text: string;
}

class Notices {
  list = $state<Notice[]>([]);
  private next = 1;

  push(kind: Notice['kind'], text: string): void {
    const id = this.next++;
    this.list = [...this.list.slice(-4), { id, kind, text }];
    if (kind !== 'error') setTimeout(() => this.dismiss(id), 5000);
  }

  dismiss(id: number): void {
    this.list = this.list.filter((n) => n.id !== id);
  }

  /** Runs `fn`; a failure becomes an error notice (prefixed with what was being done) and undefined. */
  async attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.push('error', `${what}: ${errorMessage(e)}`);
      return undefined;
    }
  }
}

export const notices = new Notices();
