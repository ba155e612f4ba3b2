// The clerk string of a window. Until clerk accounts exist the console stores
// "<staff no> <name>" (e.g. "A0123 王芳") in the window's `clerk` field.

const STAFF_NO = /^[A-Za-z]{0,3}\d{2,10}$/;

export function formatClerk(staffNo, name) {
  staffNo = (staffNo || "").trim();
  name = (name || "").trim();
  return [staffNo, name].filter(Boolean).join(" ");
}

export function parseClerk(clerk) {
  const s = (clerk || "").trim();
  if (!s) return { name: "", staffNo: "" };
  const [first, ...rest] = s.split(/\s+/);
  if (STAFF_NO.test(first)) return { staffNo: first, name: rest.join(" ") };
  return { name: s, staffNo: "" };
}
