import { CustomerBooks } from './customer-books';
import { LeaseBook } from './lease-book';

describe('CustomerBooks', () => {
  it('finds the books a customer’s grants named, and follows a book to another customer', () => {
    const books = new CustomerBooks();
    const a = new LeaseBook('a', 1_000);
    const b = new LeaseBook('b', 1_000);
    books.assign(a, 'cus_1');
    books.assign(b, 'cus_1');
    books.assign(a, 'cus_1'); // again: no duplicate
    expect(books.of('cus_1')).toEqual([a, b]);
    books.assign(b, 'cus_2');
    expect(books.of('cus_1')).toEqual([a]);
    expect(books.of('cus_2')).toEqual([b]);
    expect(b.customerId).toBe('cus_2');
  });

  it('forgets a removed book, and a customer with none left', () => {
    const books = new CustomerBooks();
    const a = new LeaseBook('a', 1_000);
    books.assign(a, 'cus_1');
    const listed = books.of('cus_1');
    books.remove(a);
    expect(books.of('cus_1')).toEqual([]);
    // What `of` returned was a copy: removing did not change it under its reader.
    expect(listed).toEqual([a]);
    books.remove(new LeaseBook('never assigned', 1_000));
  });
});
