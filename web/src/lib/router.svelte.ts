// A path router on the History API: the server answers every app path with index.html.

class Router {
  path = $state(location.pathname);
  search = $state(location.search);

  constructor() {
    addEventListener('popstate', () => this.sync());
  }

  go(to: string): void {
    if (to === location.pathname + location.search) return;
    history.pushState(null, '', to);
    this.sync();
  }

  /** Changes the address without a new history entry (a filter typed in, a link resolved): Back skips it. */
  replace(to: string): void {
    if (to === location.pathname + location.search) return;
    history.replaceState(null, '', to);
    this.sync();
  }

  private sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }
}

export const router = new Router();

/** onclick for in-app links: plain clicks stay in the app, modified clicks open tabs as usual. */
export function navigate(e: MouseEvent): void {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.currentTarget as HTMLAnchorElement;
  e.preventDefault();
  router.go(a.pathname + a.search);
}
