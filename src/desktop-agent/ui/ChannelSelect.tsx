/** A user-channel picker: the channels of {@link USER_CHANNELS}, or none. */
import { USER_CHANNELS } from "../userChannels";

/** `value`/`onChange`: the user channel id, `null` for none; `testId` becomes `data-testid`. */
export function ChannelSelect(props: { value: string | null; onChange: (channelId: string | null) => void; testId: string; label?: string }) {
  const current = USER_CHANNELS.find((c) => c.id === props.value);
  return (
    <select
      data-testid={props.testId}
      aria-label={props.label ?? "User channel"}
      value={props.value ?? ""}
      style={{ borderColor: current?.color ?? "#888", color: current?.color ?? "inherit" }}
      onChange={(e) => props.onChange(e.target.value === "" ? null : e.target.value)}
    >
      <option value="">No channel</option>
      {USER_CHANNELS.map((c) => (
        <option key={c.id} value={c.id}>
          {c.name}
        </option>
      ))}
    </select>
  );
}
