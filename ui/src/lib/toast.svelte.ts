// The status line: short messages that fade ("Copied — clears in 30 s", errors).

export type ToastKind = "info" | "success" | "error";
export interface Toast {
  id: number;
  text: string;
  kind: ToastKind;
}

class Toasts {
  items = $state<Toast[]>([]);
  #id = 0;

  show(text: string, kind: ToastKind = "info", ms = kind === "error" ? 6000 : 3000): void {
    const id = ++this.#id;
    // One line at a time: a new message replaces the old one.
    this.items = [{ id, text, kind }];
    setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }

  clear(): void {
    this.items = [];
  }
}

export const toasts = new Toasts();
