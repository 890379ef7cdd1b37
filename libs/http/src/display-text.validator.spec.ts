import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { IsDisplayText, isDisplayText } from './display-text.validator';

class Named {
  @IsDisplayText()
  name!: string;

  @IsDisplayText('lines')
  description!: string;
}

const messages = (fields: Partial<Named>) =>
  validateSync(plainToInstance(Named, { name: 'n', description: 'd', ...fields })).map((e) => [
    e.property,
    Object.values(e.constraints ?? {}),
  ]);

describe('isDisplayText', () => {
  it('takes any script, emoji with joiners and direction marks, and spaces inside', () => {
    for (const value of [
      'Acme GmbH',
      'Überweisung & Söhne',
      'شركة\u200f الأمل',
      'मिश्र\u200dण',
      'Familie 👨\u200d👩\u200d👧',
      '株式会社ペイゲート',
      'Scotland 🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}',
      'zero\u200bwidth inside',
      '',
    ])
      expect([value, isDisplayText(value), isDisplayText(value, 'lines')]).toEqual([
        value,
        true,
        true,
      ]);
  });

  it('refuses control, bidirectional-control, separator, annotation, tag and BOM characters, lone surrogates, and nothing visible', () => {
    for (const value of [
      'nul\u0000',
      'esc\u001b[31mred',
      'bell\u0007',
      'del\u007f',
      'c1\u0085',
      'c1\u009b31m',
      'admin\u202egnp.exe',
      'isolate\u2066x\u2069',
      '\ufeffbom',
      'lone \ud800 high',
      'lone \udc00 low',
      'swapped \udc00\ud800',
      '   ',
      '\u00a0\u2003',
      // Nothing visible: format characters and blank fillers only.
      '\u200b',
      '\u2060',
      '\u200e',
      '\u200d',
      '\u3164',
      '\u2800',
      ' \u200b ',
      'line\u2028separator',
      'paragraph\u2029separator',
      'annotated\ufff9x\ufffay\ufffb',
      // Tag characters outside an emoji tag sequence: text nobody sees.
      'hello\u{e0069}\u{e0067}\u{e006e}\u{e006f}\u{e0072}\u{e0065}',
      '\u{e0001}',
    ])
      expect([value, isDisplayText(value), isDisplayText(value, 'lines')]).toEqual([
        value,
        false,
        false,
      ]);
  });

  it('takes line breaks and tabs in a description, not in a name', () => {
    for (const value of ['two\nlines', 'tab\tstop', 'crlf\r\nend']) {
      expect([value, isDisplayText(value)]).toEqual([value, false]);
      expect([value, isDisplayText(value, 'lines')]).toEqual([value, true]);
    }
    expect(isDisplayText('\n\t', 'lines')).toBe(false);
    // A carriage return alone moves a terminal's cursor back over what was shown.
    expect(isDisplayText('Goodwill\rEvil', 'lines')).toBe(false);
    expect(isDisplayText('end\r', 'lines')).toBe(false);
  });

  it('leaves what is not a string to IsString', () => {
    for (const value of [7, null, undefined, {}]) expect(isDisplayText(value)).toBe(true);
  });
});

describe('IsDisplayText', () => {
  it('names the field and what it must be', () => {
    expect(messages({ name: 'a\u202eb', description: 'ok\nfine' })).toEqual([
      [
        'name',
        [
          'name must be one line of visible text, without control, bidirectional-control or other hidden characters',
        ],
      ],
    ]);
    expect(messages({ description: 'x\u0000' })).toEqual([
      [
        'description',
        [
          'description must be visible text, without control, bidirectional-control or other hidden characters',
        ],
      ],
    ]);
    expect(messages({})).toEqual([]);
  });
});
