import type { LeaseBook } from './lease-book';

/**
 * The lease books of each customer, so that what concerns one customer (a key, plan or balance
 * change drops its leases) costs the same with a million keys held as with ten. A book belongs
 * to the customer its last grant named (`book.customerId`).
 */
export class CustomerBooks {
  private readonly byCustomer = new Map<string, Set<LeaseBook>>();

  /** A grant of the book named this customer. */
  assign(book: LeaseBook, customerId: string): void {
    if (book.customerId === customerId) return;
    this.remove(book);
    book.customerId = customerId;
    let books = this.byCustomer.get(customerId);
    if (!books) this.byCustomer.set(customerId, (books = new Set()));
    books.add(book);
  }

  /** The book is gone (idle and empty). */
  remove(book: LeaseBook): void {
    if (book.customerId === undefined) return;
    const books = this.byCustomer.get(book.customerId);
    books?.delete(book);
    if (books?.size === 0) this.byCustomer.delete(book.customerId);
  }

  /** A copy: dropping the books' leases must not change what is being iterated. */
  of(customerId: string): LeaseBook[] {
    return [...(this.byCustomer.get(customerId) ?? [])];
  }
}
