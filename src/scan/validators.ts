// Checksums and number-plan rules that turn a digit string into a validated detection: Luhn, card
// issuer ranges (IIN), US SSN area/group/serial rules, IMEI.

/** The Luhn (mod 10) check over a string of ASCII digits. */
export function isLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let n = digits.charCodeAt(i) - 48;
    if (n < 0 || n > 9) return false;
    if (double) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Card schemes by issuer range (IIN prefix) and the lengths each issues. */
const CARD_RANGES: readonly {
  readonly scheme: string;
  readonly from: number;
  readonly to: number;
  readonly digits: number;
  readonly lengths: readonly number[];
}[] = [
  { scheme: 'visa', from: 4, to: 4, digits: 1, lengths: [13, 16, 19] },
  { scheme: 'mastercard', from: 51, to: 55, digits: 2, lengths: [16] },
  { scheme: 'mastercard', from: 2221, to: 2720, digits: 4, lengths: [16] },
  { scheme: 'amex', from: 34, to: 34, digits: 2, lengths: [15] },
  { scheme: 'amex', from: 37, to: 37, digits: 2, lengths: [15] },
  { scheme: 'discover', from: 6011, to: 6011, digits: 4, lengths: [16, 17, 18, 19] },
  { scheme: 'discover', from: 644, to: 649, digits: 3, lengths: [16, 17, 18, 19] },
  { scheme: 'discover', from: 65, to: 65, digits: 2, lengths: [16, 17, 18, 19] },
  { scheme: 'diners', from: 300, to: 305, digits: 3, lengths: [14, 15, 16, 17, 18, 19] },
  { scheme: 'diners', from: 36, to: 36, digits: 2, lengths: [14, 15, 16, 17, 18, 19] },
  { scheme: 'diners', from: 38, to: 39, digits: 2, lengths: [14, 15, 16, 17, 18, 19] },
  { scheme: 'jcb', from: 3528, to: 3589, digits: 4, lengths: [16, 17, 18, 19] },
  { scheme: 'jcb', from: 2131, to: 2131, digits: 4, lengths: [15] },
  { scheme: 'jcb', from: 1800, to: 1800, digits: 4, lengths: [15] },
  { scheme: 'unionpay', from: 62, to: 62, digits: 2, lengths: [16, 17, 18, 19] },
  { scheme: 'maestro', from: 50, to: 50, digits: 2, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { scheme: 'maestro', from: 56, to: 69, digits: 2, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
];

/** The card scheme when `digits` is in an issuer range with an issued length and passes Luhn. */
export function cardScheme(digits: string): string | undefined {
  if (digits.length < 12 || digits.length > 19 || !isLuhn(digits)) return undefined;
  for (const r of CARD_RANGES) {
    const prefix = Number(digits.slice(0, r.digits));
    if (prefix >= r.from && prefix <= r.to && r.lengths.includes(digits.length)) return r.scheme;
  }
  return undefined;
}

/**
 * US SSN rules (SSA, since the 2011 randomisation): area not 000, 666 or 900–999; group not 00;
 * serial not 0000; and not a number the SSA or advertisers made public (078-05-1120, 219-09-9999).
 */
export function isValidSsn(digits: string): boolean {
  if (digits.length !== 9) return false;
  const area = Number(digits.slice(0, 3));
  const group = Number(digits.slice(3, 5));
  const serial = Number(digits.slice(5));
  if (area === 0 || area === 666 || area >= 900 || group === 0 || serial === 0) return false;
  if (digits === '078051120' || digits === '219099999' || digits === '123456789') return false;
  // One digit repeated nine times is a placeholder, not a number.
  return !/^(\d)\1{8}$/.test(digits);
}

/** IMEI: 15 digits, Luhn over all 15, reporting body prefix not 00. */
export function isImei(digits: string): boolean {
  return digits.length === 15 && !digits.startsWith('00') && isLuhn(digits);
}
