// Reads iCalendar texts with ical.js (Mozilla's parser, the one Thunderbird and many web
// calendars use) and answers what it understood, for tests/interop/test_calendars.py.
// One calendar per input line, as JSON {"ics": "..."}; one JSON answer per output line.
import { createInterface } from "node:readline";
import ICAL from "ical.js";

function moment(time) {
  return time ? time.toJSDate().toISOString() : null;
}

function read(text) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  const zones = calendar.getAllSubcomponents("vtimezone").map((zone) => {
    const timezone = new ICAL.Timezone(zone);
    ICAL.TimezoneService.register(timezone);
    return timezone.tzid;
  });
  const events = calendar.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    return {
      uid: event.uid,
      summary: event.summary,
      location: event.location,
      description: event.description,
      sequence: event.sequence,
      status: component.getFirstPropertyValue("status"),
      url: component.getFirstPropertyValue("url"),
      categories: component.getAllProperties("categories").flatMap((p) => p.getValues()),
      dtstamp: moment(component.getFirstPropertyValue("dtstamp")),
      last_modified: moment(component.getFirstPropertyValue("last-modified")),
      created: moment(component.getFirstPropertyValue("created")),
      start: moment(event.startDate),
      end: moment(event.endDate),
      start_zone: event.startDate.zone ? event.startDate.zone.tzid : null,
      start_local: event.startDate.toString(),
    };
  });
  return {
    version: calendar.getFirstPropertyValue("version"),
    method: calendar.getFirstPropertyValue("method"),
    prodid: calendar.getFirstPropertyValue("prodid"),
    name: calendar.getFirstPropertyValue("x-wr-calname"),
    zones,
    events,
  };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let answer;
  try {
    answer = { ok: read(JSON.parse(line).ics) };
  } catch (error) {
    answer = { error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
