// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "ok",
  "toast": "published",
  "nextPostUrl": "https://www.facebook.com/clawtest/posts/pfbid02LateNotFirst9kQ2xWc9mYbTr8uPz5LsDf1HgJa6oQnRv4tBy9eUw3iZkMx",
  "newStoryDelayMs": 2500,
  "newStoryFirst": false,
  "earlierPosts": [
    {
      "text": "Reminder from the Claw Post team to everyone: the meetup moved to Saturday.",
      "url": "https://www.facebook.com/clawtest/posts/pfbid0SameTextLastWeek3kQ2xWc9mYbTr8uPz5LsDf1HgJa6"
    },
    {
      "text": "Reminder from the Claw Post team to everyone: the meetup is on Friday.",
      "url": "https://www.facebook.com/clawtest/posts/pfbid0SamePrefixFriday4kQ2xWc9mYbTr8uPz5LsDf1HgJa6"
    }
  ]
};
