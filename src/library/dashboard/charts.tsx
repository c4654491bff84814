/**
 * The dashboard's charts, drawn with Recharts (https://recharts.org). Each chart is decoration for
 * figures the page also shows as text (`Dashboard.tsx`), so it is `aria-hidden`; animations are off
 * so that what a screenshot shows is what the data says.
 */
import { Bar, BarChart, CartesianGrid, Cell, ComposedChart, Legend, Line, Pie, PieChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { DashboardDay, SentimentCounts } from "../api/types";

/** Colours of the sources and sentiment labels. */
export const SOURCE_COLOURS = { call: "#1f3a5f", dictation: "#6a9fd8", recording: "#e0a030" } as const;
export const SENTIMENT_COLOURS = { positive: "#43a047", neutral: "#9aa5b8", negative: "#e53935", unknown: "#d6dce6" } as const;
/** How the sources are named on the page. */
export const SOURCE_LABELS = { call: "Live calls", dictation: "Dictations", recording: "Recorded calls" } as const;

const shortDay = (day: string) => day.slice(5);
const HEIGHT = 220;

/** Transcripts per day, stacked by source. */
export function CallsPerDayChart({ days }: { days: DashboardDay[] }) {
  const data = days.map((d) => ({ day: shortDay(d.day), ...d.bySource }));
  return (
    <div className="dash-chart" aria-hidden="true">
      <ResponsiveContainer width="100%" height={HEIGHT}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" fontSize={11} minTickGap={8} />
          <YAxis allowDecimals={false} fontSize={11} />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {(Object.keys(SOURCE_COLOURS) as (keyof typeof SOURCE_COLOURS)[]).map((s) => (
            <Bar key={s} dataKey={s} name={SOURCE_LABELS[s]} stackId="source" fill={SOURCE_COLOURS[s]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Talk time per day: in seconds while every day has under two minutes, else in minutes. */
export function TalkTimeChart({ days }: { days: DashboardDay[] }) {
  const minutes = days.some((d) => d.talkSec >= 120);
  const unit = minutes ? "min" : "s";
  const data = days.map((d) => ({ day: shortDay(d.day), talk: minutes ? Math.round((d.talkSec / 60) * 10) / 10 : Math.round(d.talkSec * 10) / 10 }));
  return (
    <div className="dash-chart" aria-hidden="true">
      <ResponsiveContainer width="100%" height={HEIGHT}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" fontSize={11} minTickGap={8} />
          <YAxis fontSize={11} unit={unit === "s" ? " s" : " min"} width={70} />
          <Tooltip formatter={(v) => [`${v} ${unit}`, "Talk time"]} />
          <Bar dataKey="talk" name={`Talk time (${unit})`} fill="#3b6ea5" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

/** The sentiment labels of the range, as a pie. */
export function SentimentPie({ counts }: { counts: SentimentCounts }) {
  const data = (Object.keys(SENTIMENT_COLOURS) as (keyof SentimentCounts)[]).map((k) => ({ name: k, value: counts[k] })).filter((d) => d.value > 0);
  return (
    <div className="dash-chart dash-pie" aria-hidden="true">
      <ResponsiveContainer width="100%" height={HEIGHT}>
        <PieChart>
          <Pie data={data} dataKey="value" nameKey="name" innerRadius={45} outerRadius={80} isAnimationActive={false} label={({ name, value }) => `${name} ${value}`} fontSize={11}>
            {data.map((d) => (
              <Cell key={d.name} fill={SENTIMENT_COLOURS[d.name]} />
            ))}
          </Pie>
          <Tooltip />
        </PieChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Sentiment per day: labels stacked, and the day's mean score as a line (right axis, −1 … 1). */
export function SentimentTrendChart({ days }: { days: DashboardDay[] }) {
  const data = days.map((d) => ({ day: shortDay(d.day), positive: d.sentiment.positive, neutral: d.sentiment.neutral, negative: d.sentiment.negative, mean: d.meanSentiment }));
  return (
    <div className="dash-chart" aria-hidden="true">
      <ResponsiveContainer width="100%" height={HEIGHT}>
        <ComposedChart data={data} margin={{ top: 8, right: 0, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" fontSize={11} minTickGap={8} />
          <YAxis yAxisId="n" allowDecimals={false} fontSize={11} />
          <YAxis yAxisId="score" orientation="right" domain={[-1, 1]} fontSize={11} />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {(["positive", "neutral", "negative"] as const).map((k) => (
            <Bar key={k} yAxisId="n" dataKey={k} stackId="s" fill={SENTIMENT_COLOURS[k]} isAnimationActive={false} />
          ))}
          <Line yAxisId="score" dataKey="mean" name="mean score" stroke="#1d2330" dot connectNulls isAnimationActive={false} />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Horizontal bars of named counts (top topics, key phrases) or percentages (talk ratio). */
export function HorizontalBars({ data, colour, unit = "" }: { data: { name: string; value: number }[]; colour: string; unit?: string }) {
  return (
    <div className="dash-chart" aria-hidden="true">
      <ResponsiveContainer width="100%" height={Math.max(80, data.length * 26 + 30)}>
        <BarChart data={data} layout="vertical" margin={{ top: 4, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" allowDecimals={false} fontSize={11} {...(unit === "%" && { domain: [0, 100] })} />
          <YAxis type="category" dataKey="name" width={140} fontSize={11} interval={0} />
          <Tooltip formatter={(v) => [`${v}${unit}`]} />
          <Bar dataKey="value" fill={colour} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
