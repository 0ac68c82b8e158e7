// Who is logged in, and what their role may do: what a role cannot do is not offered.
import { api, whenUnauthorized, type Role, type User } from './api';

const RANK: Record<Role, number> = { viewer: 0, analyst: 1, admin: 2 };

class Session {
  user = $state<User | null>(null);
  /** False until the first /api/me answer, so the login page does not flash for a logged-in user. */
  ready = $state(false);

  constructor() {
    whenUnauthorized(() => { this.user = null; });
  }

  can(role: Role): boolean {
    return this.user !== null && RANK[this.user.role] >= RANK[role];
  }

  async load(): Promise<void> {
    try {
      this.user = (await api<{ user: User }>('/api/me')).user;
    } catch {
      this.user = null;
    } finally {
      this.ready = true;
    }
  }

  async login(name: string, password: string): Promise<void> {
    this.user = (await api<{ user: User }>('/api/login', { method: 'POST', body: { name, password } })).user;
  }

  async logout(): Promise<void> {
    await api('/api/logout', { method: 'POST', body: {} }).catch(() => undefined);
    this.user = null;
  }
}

export const session = new Session();
