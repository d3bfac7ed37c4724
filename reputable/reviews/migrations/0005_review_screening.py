# The checks at submission (reputable.reviews.screening): the original text where something
# was masked, the automated actions, and the word list's flag for the moderators.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0004_moderation'),
    ]

    operations = [
        migrations.AddField(
            model_name='review',
            name='original',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='review',
            name='automated',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='review',
            name='flagged_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='review',
            name='flag_cleared_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        # WHERE flagged_at IS NOT NULL AND flag_cleared_at IS NULL ORDER BY flagged_at, id
        # (the moderators' queue, ReviewQuerySet.flagged)
        migrations.AddIndex(
            model_name='review',
            index=models.Index(condition=models.Q(('flag_cleared_at', None), ('flagged_at__isnull', False)), fields=['flagged_at', 'id'], name='review_flagged'),
        ),
    ]
