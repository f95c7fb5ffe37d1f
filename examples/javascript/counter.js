// The Counter actor: it greets, keeps a count in the actor state store, and registers a
// timer and a reminder that count their firings in state. The SDK names the actor type
// after the class, and saves state changes after every method, timer and reminder call.
const { AbstractActor, Temporal } = require("@dapr/dapr");

const COUNT = "count";
const TIMER_FIRED = "timer-fired";
const REMINDER_FIRED = "reminder-fired";

class Counter extends AbstractActor {
  // turns counts the increments of this activation; it lives only in memory.
  turns = 0;

  async greet(name) {
    return `hello ${name}, from Counter/${this.getActorId().getId()}`;
  }

  async increment() {
    this.turns++;
    const value = (await this.read(COUNT)) + 1;
    await this.getStateManager().setState(COUNT, value);
    return { value, activation: this.turns };
  }

  // startTicking registers a timer that calls tick, and a reminder, both first due after
  // dueSeconds and then every periodSeconds.
  async startTicking(dueSeconds, periodSeconds) {
    const due = Temporal.Duration.from({ seconds: dueSeconds });
    const period = Temporal.Duration.from({ seconds: periodSeconds });
    await this.registerActorTimer("tick", "tick", due, period, undefined, "timer");
    await this.registerActorReminder("remind", due, period, undefined, "reminder");
    return { dueSeconds, periodSeconds };
  }

  // stopTicking unregisters the timer and the reminder and reports how often they fired.
  async stopTicking() {
    await this.unregisterActorTimer("tick");
    await this.unregisterActorReminder("remind");
    return this.fired();
  }

  async fired() {
    return { timer: await this.read(TIMER_FIRED), reminder: await this.read(REMINDER_FIRED) };
  }

  // tick is the timer's callback.
  async tick(data) {
    console.log(`Counter/${this.getActorId().getId()}: timer fired with ${data}`);
    await this.bump(TIMER_FIRED);
  }

  async receiveReminder(data) {
    console.log(`Counter/${this.getActorId().getId()}: reminder fired with ${data}`);
    await this.bump(REMINDER_FIRED);
  }

  async bump(key) {
    await this.getStateManager().setState(key, (await this.read(key)) + 1);
  }

  // read returns the number stored under key, or 0.
  async read(key) {
    const [found, value] = await this.getStateManager().tryGetState(key);
    return found ? value : 0;
  }
}

module.exports = { Counter };
