/** The softphone's demo address book (fictional people, reserved 555-01xx numbers). */
export interface DemoContact {
  name: string;
  email: string;
  phoneNumber: string;
}

/** The address book's entries (phone numbers in E.164). */
export const DEMO_CONTACTS: readonly DemoContact[] = [
  { name: "Jane Doe", email: "jane.doe@example.com", phoneNumber: "+14155550100" },
  { name: "Ravi Kumar", email: "ravi.kumar@example.com", phoneNumber: "+14155550142" },
  { name: "Lena Fischer", email: "lena.fischer@example.com", phoneNumber: "+14155550177" },
];
