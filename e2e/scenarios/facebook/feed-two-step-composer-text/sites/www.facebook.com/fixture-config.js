// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "ok",
  "composerSteps": 2,
  "nextPostUrl": "https://www.facebook.com/clawtest/posts/pfbid02TwoStepComposer8kQ2xWc9mYbTr8uPz5LsDf1HgJa6oQnRv4tBy9eUw3iZ"
};
