import { repeatedMember } from './repeated-members';

describe('repeatedMember', () => {
  it('finds a name repeated in one object, at any depth', () => {
    expect(repeatedMember('{"a":1,"a":2}')).toBe('a');
    expect(repeatedMember('{"data":{"tokens":1, "tokens" :2}}')).toBe('tokens');
    expect(repeatedMember('[{"x":1},{"y":[{"z":1,"z":1}]}]')).toBe('z');
  });

  it('compares names decoded, and reads escapes and colons inside strings right', () => {
    expect(repeatedMember('{"a":1,"\\u0061":2}')).toBe('a');
    expect(repeatedMember('{"a\\"b":"x:y","c":"a\\"b"}')).toBeUndefined();
    expect(repeatedMember('{"k":"\\\\","k2":"\\\\"}')).toBeUndefined();
    expect(repeatedMember('{"s":"{\\"s\\":1}","t":1}')).toBeUndefined();
  });

  it('takes the same name in different objects, and values equal to names', () => {
    expect(repeatedMember('{"a":{"a":{"a":1}},"b":"a"}')).toBeUndefined();
    expect(repeatedMember('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(repeatedMember('{"list":["a","a"],"a":1}')).toBeUndefined();
    expect(repeatedMember('"just a string"')).toBeUndefined();
  });
});
