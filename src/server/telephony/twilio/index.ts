/** Twilio Media Streams ingress (issue 8 §1): the route plugin, its session, aligner, messages and signatures. */
export { twilioMediaRoutes, signedUrlCandidates, TWILIO_MEDIA_PATH, type TwilioMediaRoutesOptions } from "./route";
export { TwilioMediaSession, TWILIO_CALL_FORMAT, TwilioClose, type LiveCallOpener, type TwilioSessionLimits } from "./session";
export { TrackAligner, AlignerError, MULAW_SILENCE, channelOfTrack, type AlignerOptions, type AlignerStats } from "./aligner";
export { parseTwilioMessage, TWILIO_MESSAGE_SCHEMAS, TWILIO_EVENTS, MAX_TWILIO_MESSAGE_BYTES, type TwilioMessage } from "./messages";
export { twilioSignature, verifyTwilioSignature, urlSpellings } from "./signature";
export { metadataFromStart, CALL_ID_PATTERN } from "./metadata";
