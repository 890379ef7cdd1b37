/** Where and when threshold alerts go; built from the app config (see EntitlementModule). */
export class AlertSettings {
  constructor(
    readonly url: string | undefined,
    readonly secret: string,
    readonly usagePercents: number[],
    readonly lowBalance: number | undefined,
  ) {}

  static disabled(): AlertSettings {
    return new AlertSettings(undefined, '', [], undefined);
  }
}
