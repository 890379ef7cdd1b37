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
      '',
    ])
      expect([value, isDisplayText(value), isDisplayText(value, 'lines')]).toEqual([
        value,
        true,
        true,
      ]);
  });

  it('refuses control, bidirectional-override and BOM characters, lone surrogates, and blanks', () => {
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
          'name must be one line of text: not blank, and without control, bidirectional-override or unpaired surrogate characters',
        ],
      ],
    ]);
    expect(messages({ description: 'x\u0000' })).toEqual([
      [
        'description',
        [
          'description must be text: not blank, and without control, bidirectional-override or unpaired surrogate characters',
        ],
      ],
    ]);
    expect(messages({})).toEqual([]);
  });
});
