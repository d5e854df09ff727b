// One pass over an NDJSON line that both validates it (accepting exactly what JSON.parse accepts)
// and reports its members whose value is a string or a number, without building any value: the
// scanner needs to know a line is JSON and where `"phone": "…"` is, not the parsed object.

/** A member `"key": value` with a string or number value; offsets in the scanned text. */
export interface JsonMemberSink {
  /** `keyStart..keyEnd`: the key's characters (no quotes, may hold escapes); `valueStart..valueEnd`: the string's characters without quotes, or the number. */
  (keyStart: number, keyEnd: number, valueStart: number, valueEnd: number, isString: boolean): void;
}

const MAX_DEPTH = 1000;

/**
 * True when `text[from, to)` is one JSON text, as JSON.parse would accept it; calls `member` for
 * each member with a string or number value, in order. A false answer may come after some calls.
 */
export function scanJsonText(text: string, from: number, to: number, member?: JsonMemberSink): boolean {
  let i = from;
  // Containers open: 1 = object, 2 = array.
  const stack: number[] = [];
  const ws = (): void => {
    while (i < to) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
  };
  /** Skips a string starting at the quote at i; -1 when malformed, else the index after the closing quote. */
  const str = (): number => {
    let k = i + 1;
    while (k < to) {
      const c = text.charCodeAt(k);
      if (c === 34) return k + 1;
      if (c < 32) return -1;
      if (c === 92) {
        const e = text.charCodeAt(k + 1);
        if (k + 1 >= to) return -1;
        if (e === 117) {
          if (k + 5 >= to) return -1;
          for (let h = k + 2; h < k + 6; h++) {
            const x = text.charCodeAt(h) | 0x20;
            if (!((x >= 48 && x <= 57) || (x >= 97 && x <= 102))) return -1;
          }
          k += 6;
          continue;
        }
        if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
          k += 2;
          continue;
        }
        return -1;
      }
      k++;
    }
    return -1;
  };
  const digits = (k: number): number => {
    while (k < to) {
      const c = text.charCodeAt(k);
      if (c >= 48 && c <= 57) k++;
      else break;
    }
    return k;
  };
  /** Skips a number starting at i; -1 when malformed. */
  const num = (): number => {
    let k = i;
    if (text.charCodeAt(k) === 45) k++;
    const c = text.charCodeAt(k);
    if (k >= to || c < 48 || c > 57) return -1;
    k = c === 48 ? k + 1 : digits(k + 1);
    if (k < to && text.charCodeAt(k) === 46) {
      const d = digits(k + 1);
      if (d === k + 1) return -1;
      k = d;
    }
    if (k < to && (text.charCodeAt(k) | 0x20) === 101) {
      k++;
      if (k < to && (text.charCodeAt(k) === 43 || text.charCodeAt(k) === 45)) k++;
      const d = digits(k);
      if (d === k) return -1;
      k = d;
    }
    return k;
  };
  const word = (w: string): boolean => {
    if (i + w.length > to || !text.startsWith(w, i)) return false;
    i += w.length;
    return true;
  };
  // The key of the member whose value is read next, or -1.
  let keyStart = -1;
  let keyEnd = -1;
  ws();
  for (;;) {
    // A value.
    if (i >= to) return false;
    const c = text.charCodeAt(i);
    if (c === 123 || c === 91) {
      if (stack.length >= MAX_DEPTH) return false;
      i++;
      ws();
      const close = c === 123 ? 125 : 93;
      if (i < to && text.charCodeAt(i) === close) {
        i++;
      } else {
        stack.push(c === 123 ? 1 : 2);
        if (c === 123) {
          if (!key()) return false;
        }
        keyStart = c === 123 ? keyStart : -1;
        continue;
      }
    } else if (c === 34) {
      const e = str();
      if (e === -1) return false;
      if (keyStart !== -1) member?.(keyStart, keyEnd, i + 1, e - 1, true);
      i = e;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const e = num();
      if (e === -1) return false;
      if (keyStart !== -1) member?.(keyStart, keyEnd, i, e, false);
      i = e;
    } else if (!(word('true') || word('false') || word('null'))) {
      return false;
    }
    keyStart = -1;
    // After a value: a comma, a closing bracket, or the end.
    for (;;) {
      ws();
      if (stack.length === 0) return i === to;
      if (i >= to) return false;
      const top = stack[stack.length - 1]!;
      const d = text.charCodeAt(i);
      if (d === 44) {
        i++;
        ws();
        if (top === 1 && !key()) return false;
        break;
      }
      if ((top === 1 && d === 125) || (top === 2 && d === 93)) {
        i++;
        stack.pop();
        continue;
      }
      return false;
    }
  }

  /** Reads `"key" :` at i (after whitespace), leaving i at the value after whitespace. */
  function key(): boolean {
    if (i >= to || text.charCodeAt(i) !== 34) return false;
    const e = str();
    if (e === -1) return false;
    keyStart = i + 1;
    keyEnd = e - 1;
    i = e;
    ws();
    if (i >= to || text.charCodeAt(i) !== 58) return false;
    i++;
    ws();
    return true;
  }
}
