// The clerk string of a window: the console opens the window with "<name> (<staff no>)",
// e.g. "王芳 (A0123)" — the account's name and user name (工号). Older forms
// "<staff no> <name>" and a bare name are understood too.

const STAFF_NO = /^[A-Za-z]{0,3}\d{2,10}$/;
const WITH_STAFF = /^(.*?)\s*\(([^()]+)\)\s*$/;

export function formatClerk(staffNo, name) {
  staffNo = (staffNo || "").trim();
  name = (name || "").trim();
  if (staffNo && name) return `${name} (${staffNo})`;
  return name || (staffNo ? `(${staffNo})` : "");
}

export function parseClerk(clerk) {
  const s = (clerk || "").trim();
  if (!s) return { name: "", staffNo: "" };
  const m = s.match(WITH_STAFF);
  if (m) return { name: m[1], staffNo: m[2] };
  const [first, ...rest] = s.split(/\s+/);
  if (STAFF_NO.test(first)) return { staffNo: first, name: rest.join(" ") };
  return { name: s, staffNo: "" };
}
